// Package wire holds the JSON wire types shared by the Go txova services and
// the C++ txova-kafka library, and the golden events used to test that the two
// agree byte for byte. Standard library only, so the golden check needs no
// network.
package wire

import (
	"encoding/json"
	"time"
)

// Wire types shared with the C++ txova-kafka library. Field order is the wire
// order produced by encoding/json, so it must not be changed.

// Actor identifies who caused an event.
type Actor struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Envelope is the common event envelope.
type Envelope struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Version       string          `json:"version"`
	Source        string          `json:"source"`
	Timestamp     time.Time       `json:"timestamp"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   *string         `json:"causation_id,omitempty"`
	Actor         *Actor          `json:"actor,omitempty"`
	Payload       json.RawMessage `json:"payload"`
}

// Location is a WGS84 coordinate.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Money is an amount in minor units with an ISO 4217 currency code.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// ---- user.* ----

type UserRegistered struct {
	UserID   string `json:"user_id"`
	Phone    string `json:"phone"`
	UserType string `json:"user_type"`
}

type UserVerified struct {
	UserID           string `json:"user_id"`
	VerificationType string `json:"verification_type"`
}

type UserProfileUpdated struct {
	UserID        string   `json:"user_id"`
	ChangedFields []string `json:"changed_fields"`
}

type UserSuspended struct {
	UserID      string `json:"user_id"`
	Reason      string `json:"reason"`
	SuspendedBy string `json:"suspended_by"`
}

type UserDeleted struct {
	UserID       string `json:"user_id"`
	DeletionType string `json:"deletion_type"`
}

// ---- driver.* ----

type DriverApplicationSubmitted struct {
	DriverID string `json:"driver_id"`
	UserID   string `json:"user_id"`
}

type DriverDocumentsSubmitted struct {
	DriverID      string   `json:"driver_id"`
	DocumentTypes []string `json:"document_types"`
}

type DriverApproved struct {
	DriverID   string `json:"driver_id"`
	ApprovedBy string `json:"approved_by"`
}

type DriverRejected struct {
	DriverID   string `json:"driver_id"`
	Reason     string `json:"reason"`
	RejectedBy string `json:"rejected_by"`
}

type DriverWentOnline struct {
	DriverID  string   `json:"driver_id"`
	Location  Location `json:"location"`
	VehicleID string   `json:"vehicle_id"`
}

type DriverWentOffline struct {
	DriverID string `json:"driver_id"`
	Reason   string `json:"reason"`
}

type DriverLocationUpdated struct {
	DriverID string   `json:"driver_id"`
	Location Location `json:"location"`
	Heading  float64  `json:"heading"`
	Speed    float64  `json:"speed"`
}

// ---- ride.* ----

type RideRequested struct {
	RideID      string   `json:"ride_id"`
	RiderID     string   `json:"rider_id"`
	Pickup      Location `json:"pickup"`
	Dropoff     Location `json:"dropoff"`
	ServiceType string   `json:"service_type"`
}

type RideDriverAssigned struct {
	RideID     string `json:"ride_id"`
	DriverID   string `json:"driver_id"`
	VehicleID  string `json:"vehicle_id"`
	EtaMinutes int32  `json:"eta_minutes"`
}

type RideDriverArrived struct {
	RideID      string    `json:"ride_id"`
	ArrivalTime time.Time `json:"arrival_time"`
}

type RideStarted struct {
	RideID        string    `json:"ride_id"`
	StartTime     time.Time `json:"start_time"`
	StartLocation Location  `json:"start_location"`
}

type RideCompleted struct {
	RideID       string    `json:"ride_id"`
	EndTime      time.Time `json:"end_time"`
	DistanceKm   float64   `json:"distance_km"`
	DurationMins int32     `json:"duration_mins"`
	Fare         Money     `json:"fare"`
}

type RideCancelled struct {
	RideID          string `json:"ride_id"`
	CancelledBy     string `json:"cancelled_by"`
	Reason          string `json:"reason"`
	CancellationFee Money  `json:"cancellation_fee"`
}

type RideRated struct {
	RideID  string  `json:"ride_id"`
	Rating  int32   `json:"rating"`
	RatedBy string  `json:"rated_by"`
	Review  *string `json:"review,omitempty"`
}

// ---- payment.* / payout.* ----

type PaymentInitiated struct {
	PaymentID string `json:"payment_id"`
	RideID    string `json:"ride_id"`
	Amount    Money  `json:"amount"`
	Method    string `json:"method"`
}

type PaymentCompleted struct {
	PaymentID      string `json:"payment_id"`
	TransactionRef string `json:"transaction_ref"`
}

type PaymentFailed struct {
	PaymentID    string `json:"payment_id"`
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
}

type PaymentRefunded struct {
	PaymentID    string `json:"payment_id"`
	RefundAmount Money  `json:"refund_amount"`
	Reason       string `json:"reason"`
}

type PayoutRequested struct {
	PayoutID string `json:"payout_id"`
	DriverID string `json:"driver_id"`
	Amount   Money  `json:"amount"`
}

type PayoutCompleted struct {
	PayoutID       string `json:"payout_id"`
	TransactionRef string `json:"transaction_ref"`
}

// ---- safety.* ----

type SafetyEmergencyTriggered struct {
	RideID        string   `json:"ride_id"`
	UserID        string   `json:"user_id"`
	Location      Location `json:"location"`
	EmergencyType string   `json:"emergency_type"`
}

type SafetyIncidentReported struct {
	IncidentID string  `json:"incident_id"`
	ReporterID string  `json:"reporter_id"`
	RideID     *string `json:"ride_id,omitempty"`
	Severity   string  `json:"severity"`
}

type SafetyTripShared struct {
	RideID          string `json:"ride_id"`
	SharedWithPhone string `json:"shared_with_phone"`
}

// PayloadFactories maps each event type to a constructor returning a pointer
// to a fresh payload struct of the right type.
var PayloadFactories = map[string]func() any{
	"user.registered":      func() any { return new(UserRegistered) },
	"user.verified":        func() any { return new(UserVerified) },
	"user.profile_updated": func() any { return new(UserProfileUpdated) },
	"user.suspended":       func() any { return new(UserSuspended) },
	"user.deleted":         func() any { return new(UserDeleted) },

	"driver.application_submitted": func() any { return new(DriverApplicationSubmitted) },
	"driver.documents_submitted":   func() any { return new(DriverDocumentsSubmitted) },
	"driver.approved":              func() any { return new(DriverApproved) },
	"driver.rejected":              func() any { return new(DriverRejected) },
	"driver.went_online":           func() any { return new(DriverWentOnline) },
	"driver.went_offline":          func() any { return new(DriverWentOffline) },
	"driver.location_updated":      func() any { return new(DriverLocationUpdated) },

	"ride.requested":       func() any { return new(RideRequested) },
	"ride.driver_assigned": func() any { return new(RideDriverAssigned) },
	"ride.driver_arrived":  func() any { return new(RideDriverArrived) },
	"ride.started":         func() any { return new(RideStarted) },
	"ride.completed":       func() any { return new(RideCompleted) },
	"ride.cancelled":       func() any { return new(RideCancelled) },
	"ride.rated":           func() any { return new(RideRated) },

	"payment.initiated": func() any { return new(PaymentInitiated) },
	"payment.completed": func() any { return new(PaymentCompleted) },
	"payment.failed":    func() any { return new(PaymentFailed) },
	"payment.refunded":  func() any { return new(PaymentRefunded) },
	"payout.requested":  func() any { return new(PayoutRequested) },
	"payout.completed":  func() any { return new(PayoutCompleted) },

	"safety.emergency_triggered": func() any { return new(SafetyEmergencyTriggered) },
	"safety.incident_reported":   func() any { return new(SafetyIncidentReported) },
	"safety.trip_shared":         func() any { return new(SafetyTripShared) },
}
