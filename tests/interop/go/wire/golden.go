package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// Fixed identifiers shared across events so the data tells a coherent story.
const (
	riderUserID   = "50e61298-a334-49d3-84f8-e9f126c33ab7"
	driverUserID  = "4b9e2465-23c0-48a5-b5e9-e7d1196ee3a4"
	driver2UserID = "d0a6293d-b495-4bcb-8c20-de292f6b0be3"
	adminUserID   = "f06c1cac-7643-4347-a672-4c4cd03ee431"
	systemActorID = "ride-matching-engine"

	driverID   = "drv-3c8e51a0"
	driver2ID  = "drv-9a41f07b"
	vehicleID  = "veh-mz-4471"
	rideID     = "ride-7f3a9c2e"
	ride2ID    = "ride-b20d64f1"
	paymentID  = "pay-0b91d7e4"
	payoutID   = "payout-5e2c88a1"
	incidentID = "inc-2d7f0c39"

	riderPhone   = "+258841234567"
	driver2Phone = "+258847654321"
	sharePhone   = "+258823456789"

	// Correlation ids, one per business flow.
	corrRiderOnboarding  = "5ad6b099-bc44-4bcb-a0a5-dc626eb3042f"
	corrDriverOnboarding = "525f7080-2327-4e93-94e7-6f3ebb3ec77d"
	corrDriverRejected   = "e27a7214-9e68-448d-9031-8109b3eb3ff7"
	corrDriverShift      = "099e259e-1fb3-4fcb-b1f1-2ed1a73d364d"
	corrRide             = "2beb81d0-4724-4b1b-a95d-cb2c997c267a"
	corrRideCancelled    = "3c836564-7d67-4282-887c-74cce1a20680"
	corrPayout           = "a701ba73-61ab-40fa-9905-e1b6ea224ba8"
	corrSafety           = "6d96d54a-5230-49cf-9aa3-d2ed940fb483"
)

// Envelope ids (UUID v4). Also used as causation ids of follow-up events.
const (
	idUserRegistered     = "e1caa997-aa7d-4d36-ac58-a7425d8e38ce"
	idUserVerified       = "6cd68b94-ff18-4b85-a8c6-bd87c1353a86"
	idUserProfileUpdated = "cc0fb736-40cc-49ed-ba9a-b620259c8abb"
	idUserSuspended      = "48a1200c-622e-422a-b16a-9d31d23a66c0"
	idUserDeleted        = "caebf467-1585-4560-bc17-1270c5d9b922"

	idDriverApplication = "16b6a66e-df90-4049-9656-13d28cb79f08"
	idDriverDocuments   = "41266dc0-65f3-4744-adb5-28d4736ecdac"
	idDriverApproved    = "0efa6e3a-a0dd-438c-a479-289f5a226183"
	idDriverRejected    = "e9e3894b-edad-4c3f-bd6b-17740712440d"
	idDriverOnline      = "2789a372-f437-412e-93d8-ba953096cacc"
	idDriverOffline     = "1186ede2-e154-4d41-a2fa-32a3bc5cd904"
	idDriverLocation    = "c8966776-da10-4c72-9c9c-2acfe2aec683"

	idRideRequested      = "04979671-5a32-4634-bbbc-2bde7d648979"
	idRideDriverAssigned = "d6f5c29c-73aa-4f23-898a-3bfa24be87d0"
	idRideDriverArrived  = "20e17fcd-ffe7-4d8f-8d34-a7ef364d85ab"
	idRideStarted        = "53f886a9-3778-4a2c-afc6-95c3edefbec6"
	idRideCompleted      = "14e76828-c2d0-49ef-a986-74cee7cd1b5a"
	idRideCancelled      = "fa700cb7-73eb-4261-adc7-ec9e64428979"
	idRideRated          = "3986ca84-47f4-4918-af75-03fb455cc03b"

	idPaymentInitiated = "08b224ca-deba-4053-a0c6-9cfe82d8f5a5"
	idPaymentCompleted = "a5357d5b-84b1-4b5d-8612-d8a9dc1977fb"
	idPaymentFailed    = "db5953e4-7240-41fb-b3fd-2ca6110563be"
	idPaymentRefunded  = "254b5d68-8576-4317-95cf-e8bd1fbca583"
	idPayoutRequested  = "e59c56e1-b2d3-4979-a8b7-a13c597ec856"
	idPayoutCompleted  = "89582090-3322-4a1c-a7d1-df7dcf6a5052"

	idSafetyEmergency = "49f66f7e-f9e9-4d71-84c7-14c0cf6cd9be"
	idSafetyIncident  = "60a0ffb1-be41-498d-b313-477ddc00aa3e"
	idSafetyTripShare = "beca73be-d928-42dd-bfd9-a560b9e11145"
)

func str(s string) *string { return &s }

// ts builds a UTC time; nsec controls the fractional-second shape that
// RFC 3339 nano formatting produces (trailing zeros are trimmed by Go).
func ts(year int, month time.Month, day, hour, minute, sec, nsec int) time.Time {
	return time.Date(year, month, day, hour, minute, sec, nsec, time.UTC)
}

func user(id string) *Actor   { return &Actor{ID: id, Type: "user"} }
func admin(id string) *Actor  { return &Actor{ID: id, Type: "admin"} }
func system(id string) *Actor { return &Actor{ID: id, Type: "system"} }

// SchemaVersion is the envelope version of every catalog event.
const SchemaVersion = "1.0"

// Event is the un-serialised description of one envelope. Payload holds a
// payload struct value (not a pointer) of the type PayloadFactories gives
// for Type.
type Event struct {
	ID            string
	Type          string
	Source        string
	Timestamp     time.Time
	CorrelationID string
	CausationID   *string
	Actor         *Actor
	Payload       any
}

// Envelope marshals the payload with encoding/json and returns the envelope
// a Go service would publish for the event.
func (e Event) Envelope() (Envelope, error) {
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("event %q: marshal payload: %w", e.Type, err)
	}
	return Envelope{
		ID:            e.ID,
		Type:          e.Type,
		Version:       SchemaVersion,
		Source:        e.Source,
		Timestamp:     e.Timestamp,
		CorrelationID: e.CorrelationID,
		CausationID:   e.CausationID,
		Actor:         e.Actor,
		Payload:       payload,
	}, nil
}

// Marshal returns the exact bytes a Go service writes for the event.
func (e Event) Marshal() ([]byte, error) {
	env, err := e.Envelope()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("event %q: marshal envelope: %w", e.Type, err)
	}
	return b, nil
}

var (
	maputoCentre    = Location{Lat: -25.9692, Lon: 32.5732}
	maputoAirport   = Location{Lat: -25.9208, Lon: 32.5726}
	polanaCanico    = Location{Lat: -25.95, Lon: 32.5}
	costaDoSol      = Location{Lat: -25.92716483815024, Lon: 32.60694217681885}
	avJuliusNyerere = Location{Lat: -25.96553, Lon: 32.58322}
)

func mzn(minor int64) Money { return Money{Amount: minor, Currency: "MZN"} }

// GoldenEvents returns the 28 golden events, one per catalog type, freshly
// built on every call so callers may modify them. Coverage is varied on purpose:
// causation+actor, causation only, actor only, neither; actor types user,
// system and admin; timestamps with 0, 1, 2, 3, 6 and 9 fractional digits;
// strings that encoding/json escapes specially (<, >, &, U+2028, U+2029,
// control characters, quotes, backslashes) and raw UTF-8 (Mãe, emoji);
// float shapes (integral, short, long, zero, negative); a present and an
// omitted optional *string.
func GoldenEvents() []Event {
	return []Event{
		// ---- rider onboarding ----
		{idUserRegistered, "user.registered", "user-service",
			ts(2024, 1, 15, 8, 0, 0, 0), corrRiderOnboarding, nil, nil,
			UserRegistered{UserID: riderUserID, Phone: riderPhone, UserType: "rider"}},
		{idUserVerified, "user.verified", "user-service",
			ts(2024, 1, 15, 8, 2, 11, 500000000), corrRiderOnboarding, str(idUserRegistered), user(riderUserID),
			UserVerified{UserID: riderUserID, VerificationType: "phone_otp"}},
		{idUserProfileUpdated, "user.profile_updated", "user-service",
			ts(2024, 1, 20, 14, 45, 3, 123000000), corrRiderOnboarding, nil, user(riderUserID),
			UserProfileUpdated{UserID: riderUserID, ChangedFields: []string{"first_name", "email", "preferred_language"}}},
		{idUserSuspended, "user.suspended", "user-service",
			ts(2024, 3, 2, 16, 20, 0, 1000), corrRiderOnboarding, nil, admin(adminUserID),
			UserSuspended{UserID: riderUserID,
				Reason:      `Multiple reports: "aggressive behaviour" & threats <via chat> -> see ticket #4471`,
				SuspendedBy: adminUserID}},
		{idUserDeleted, "user.deleted", "user-service",
			ts(2024, 3, 31, 23, 59, 59, 999999999), corrRiderOnboarding, str(idUserSuspended), system("account-retention-job"),
			UserDeleted{UserID: riderUserID, DeletionType: "soft"}},

		// ---- driver onboarding ----
		{idDriverApplication, "driver.application_submitted", "driver-service",
			ts(2024, 1, 10, 9, 15, 0, 0), corrDriverOnboarding, nil, user(driverUserID),
			DriverApplicationSubmitted{DriverID: driverID, UserID: driverUserID}},
		{idDriverDocuments, "driver.documents_submitted", "driver-service",
			ts(2024, 1, 10, 9, 41, 27, 250000000), corrDriverOnboarding, str(idDriverApplication), user(driverUserID),
			DriverDocumentsSubmitted{DriverID: driverID,
				DocumentTypes: []string{"national_id", "drivers_license", "vehicle_registration", "insurance_certificate"}}},
		{idDriverApproved, "driver.approved", "driver-service",
			ts(2024, 1, 11, 13, 5, 42, 0), corrDriverOnboarding, str(idDriverDocuments), admin(adminUserID),
			DriverApproved{DriverID: driverID, ApprovedBy: adminUserID}},
		{idDriverRejected, "driver.rejected", "driver-service",
			ts(2024, 1, 12, 10, 0, 0, 50000000), corrDriverRejected, nil, admin(adminUserID),
			DriverRejected{DriverID: driver2ID,
				Reason:     "Carta de condução expirada\tvalidade: 2023-11-30\nPor favor, reenvie o documento.",
				RejectedBy: adminUserID}},

		// ---- driver shift ----
		{idDriverOnline, "driver.went_online", "driver-service",
			ts(2024, 1, 15, 6, 0, 0, 0), corrDriverShift, nil, user(driverUserID),
			DriverWentOnline{DriverID: driverID, Location: maputoCentre, VehicleID: vehicleID}},
		{idDriverLocation, "driver.location_updated", "location-service",
			ts(2024, 1, 15, 10, 30, 0, 123456789), corrDriverShift, nil, nil,
			DriverLocationUpdated{DriverID: driverID, Location: avJuliusNyerere, Heading: 359.9, Speed: 0}},
		{idDriverOffline, "driver.went_offline", "driver-service",
			ts(2024, 1, 15, 18, 30, 0, 0), corrDriverShift, str(idDriverOnline), nil,
			DriverWentOffline{DriverID: driverID, Reason: "end_of_shift"}},

		// ---- one complete ride ----
		{idRideRequested, "ride.requested", "ride-service",
			ts(2024, 1, 15, 10, 30, 0, 0), corrRide, nil, user(riderUserID),
			RideRequested{RideID: rideID, RiderID: riderUserID, Pickup: maputoCentre, Dropoff: maputoAirport, ServiceType: "economy"}},
		{idRideDriverAssigned, "ride.driver_assigned", "ride-service",
			ts(2024, 1, 15, 10, 30, 4, 500000000), corrRide, str(idRideRequested), system(systemActorID),
			RideDriverAssigned{RideID: rideID, DriverID: driverID, VehicleID: vehicleID, EtaMinutes: 7}},
		{idRideDriverArrived, "ride.driver_arrived", "ride-service",
			ts(2024, 1, 15, 10, 37, 0, 100000000), corrRide, str(idRideDriverAssigned), nil,
			RideDriverArrived{RideID: rideID, ArrivalTime: ts(2024, 1, 15, 10, 36, 59, 500000000)}},
		{idRideStarted, "ride.started", "ride-service",
			ts(2024, 1, 15, 10, 38, 12, 654321000), corrRide, str(idRideDriverArrived), user(driverUserID),
			RideStarted{RideID: rideID, StartTime: ts(2024, 1, 15, 10, 38, 12, 0), StartLocation: polanaCanico}},
		{idRideCompleted, "ride.completed", "ride-service",
			ts(2024, 1, 15, 11, 1, 31, 0), corrRide, str(idRideStarted), user(driverUserID),
			RideCompleted{RideID: rideID, EndTime: ts(2024, 1, 15, 11, 1, 30, 123456789),
				DistanceKm: 12, DurationMins: 23, Fare: mzn(35000)}},
		{idRideRated, "ride.rated", "ride-service",
			ts(2024, 1, 15, 11, 5, 0, 0), corrRide, str(idRideCompleted), user(riderUserID),
			RideRated{RideID: rideID, Rating: 5, RatedBy: "rider",
				Review: str("Motorista excelente, a minha Mãe adorou! 👍\u2028Carro limpo & pontual <3 \"5 estrelas\"\u2029Obrigado")}},

		// ---- payment for that ride ----
		{idPaymentInitiated, "payment.initiated", "payment-service",
			ts(2024, 1, 15, 11, 1, 32, 0), corrRide, str(idRideCompleted), system("billing-worker"),
			PaymentInitiated{PaymentID: paymentID, RideID: rideID, Amount: mzn(35000), Method: "mpesa"}},
		{idPaymentFailed, "payment.failed", "payment-service",
			ts(2024, 1, 15, 11, 1, 47, 9000000), corrRide, str(idPaymentInitiated), nil,
			PaymentFailed{PaymentID: paymentID, ErrorCode: "INS-2006",
				ErrorMessage: "M-Pesa: saldo insuficiente (balance < amount && retries > 0)\r\n\x01gateway said: \"INS-2006\" \\ tentativa 1/3"}},
		{idPaymentCompleted, "payment.completed", "payment-service",
			ts(2024, 1, 15, 11, 3, 2, 0), corrRide, str(idPaymentInitiated), nil,
			PaymentCompleted{PaymentID: paymentID, TransactionRef: "MP240115.1103.A7K2Q9"}},
		{idPaymentRefunded, "payment.refunded", "payment-service",
			ts(2024, 1, 16, 9, 12, 45, 780000000), corrRide, str(idPaymentCompleted), admin(adminUserID),
			PaymentRefunded{PaymentID: paymentID, RefundAmount: mzn(12500),
				Reason: `Cobrança em excesso: rota desviada (ticket C:\suporte\4471) — reembolso parcial`}},

		// ---- driver payout ----
		{idPayoutRequested, "payout.requested", "payment-service",
			ts(2024, 1, 19, 17, 0, 0, 0), corrPayout, nil, user(driverUserID),
			PayoutRequested{PayoutID: payoutID, DriverID: driverID, Amount: mzn(1250000)}},
		{idPayoutCompleted, "payout.completed", "payment-service",
			ts(2024, 1, 20, 8, 0, 0, 1), corrPayout, str(idPayoutRequested), system("payout-batch"),
			PayoutCompleted{PayoutID: payoutID, TransactionRef: "EMOLA-20240120-000917"}},

		// ---- a cancelled ride ----
		{idRideCancelled, "ride.cancelled", "ride-service",
			ts(2024, 1, 16, 7, 45, 10, 0), corrRideCancelled, nil, user(riderUserID),
			RideCancelled{RideID: ride2ID, CancelledBy: "rider",
				Reason: "A minha Mãe ficou doente 🙏 — desculpe!", CancellationFee: mzn(0)}},

		// ---- safety ----
		{idSafetyEmergency, "safety.emergency_triggered", "safety-service",
			ts(2024, 1, 15, 10, 52, 3, 0), corrSafety, nil, user(riderUserID),
			SafetyEmergencyTriggered{RideID: rideID, UserID: riderUserID, Location: costaDoSol, EmergencyType: "sos"}},
		{idSafetyIncident, "safety.incident_reported", "safety-service",
			ts(2024, 1, 15, 12, 0, 0, 0), corrSafety, str(idSafetyEmergency), user(riderUserID),
			SafetyIncidentReported{IncidentID: incidentID, ReporterID: riderUserID, RideID: nil, Severity: "high"}},
		{idSafetyTripShare, "safety.trip_shared", "safety-service",
			ts(2024, 1, 15, 10, 31, 0, 0), corrSafety, nil, nil,
			SafetyTripShared{RideID: rideID, SharedWithPhone: sharePhone}},
	}
}
